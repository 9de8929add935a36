import sys
from pathlib import Path

# Make the shared harness importable as a plain module from the test files in this folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))
