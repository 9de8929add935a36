// Runs many SPARQL queries in one JVM with Apache Jena ARQ (Debian's libapache-jena-java), so the
// oracle test pays the JVM start once rather than once per query (arq.sparql takes one query per run).
//
//   java -cp <jena jars> JenaBatch.java < jobs.tsv
//
// Jobs are read from standard input as they come (the caller can prepare the next dataset while Jena
// answers the last one). Each line is "data<TAB>query<TAB>out": the dataset (N-Quads, loaded once per file with
// RDFDataMgr, as arq.sparql --data loads it), the query file, read as strict SPARQL 1.1 (not ARQ's
// extended syntax), and where to write the answer: SPARQL JSON results for a SELECT, N-Triples for a
// CONSTRUCT. A query Jena refuses or fails on writes its message to out + ".error" instead. Each job's
// out path and milliseconds (dataset load included on first use) go to stdout.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.apache.jena.query.Dataset;
import org.apache.jena.query.Query;
import org.apache.jena.query.QueryExecution;
import org.apache.jena.query.QueryExecutionFactory;
import org.apache.jena.query.QueryFactory;
import org.apache.jena.query.ResultSetFormatter;
import org.apache.jena.query.Syntax;
import org.apache.jena.riot.Lang;
import org.apache.jena.riot.RDFDataMgr;
import org.apache.jena.sys.JenaSystem;

public class JenaBatch {
    public static void main(String[] args) throws Exception {
        JenaSystem.init();
        Map<String, Dataset> datasets = new HashMap<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank()) continue;
            String[] job = line.split("\t");
            Dataset ds = datasets.computeIfAbsent(job[0], RDFDataMgr::loadDataset);
            String text = Files.readString(Path.of(job[1]), StandardCharsets.UTF_8);
            Path out = Path.of(job[2]);
            long start = System.nanoTime();
            try {
                Query query = QueryFactory.create(text, Syntax.syntaxSPARQL_11);
                try (QueryExecution qe = QueryExecutionFactory.create(query, ds);
                     OutputStream os = Files.newOutputStream(out)) {
                    if (query.isSelectType()) {
                        ResultSetFormatter.outputAsJSON(os, qe.execSelect());
                    } else if (query.isConstructType()) {
                        RDFDataMgr.write(os, qe.execConstruct(), Lang.NTRIPLES);
                    } else {
                        throw new IllegalArgumentException("only SELECT and CONSTRUCT are compared");
                    }
                }
            } catch (Exception e) {
                Files.deleteIfExists(out);
                Files.writeString(Path.of(job[2] + ".error"), e.getClass().getName() + ": " + e.getMessage() + "\n",
                                  StandardCharsets.UTF_8);
            }
            System.out.println(job[2] + "\t" + (System.nanoTime() - start) / 1_000_000);
        }
    }
}
