"""Variants of a plan: a fork shares a plan's finished work and records its parent (fork.py); a
diff says what two plans do differently, section by section (plan_facts.py, diff.py, diff_html.py).
arguments.py is the command line's part, light enough to import for every command."""
