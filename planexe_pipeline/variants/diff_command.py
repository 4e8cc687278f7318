"""planexe-pipeline diff A B [--html OUT] [--json], as the command line runs it."""

from __future__ import annotations

import json
from pathlib import Path

from planexe_pipeline.variants.diff import diff_plans, text_lines
from planexe_pipeline.variants.diff_html import write_diff_html
from planexe_pipeline.variants.plan_facts import check_finished_plan


def cmd_diff(args) -> int:
    a, b = Path(args.a), Path(args.b)
    for folder in (a, b):  # both checked before anything is written
        check_finished_plan(folder)
    diff = diff_plans(a, b, a_label=args.a, b_label=args.b)
    if args.html:
        write_diff_html(diff, Path(args.html))
    print(json.dumps(diff.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) if args.json
          else "\n".join(text_lines(diff)))
    if args.html and not args.json:
        print(f"\nPage: {args.html}")
    return 0
