"""`planexe-pipeline mcp`: the plans of one root folder as MCP tools (server.py), over the same runs
and status as the command line. The job process (job_process.py) imports no MCP code."""
