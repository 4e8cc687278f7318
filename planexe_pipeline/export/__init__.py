"""The plan in the files other tools open: MS Project XML, iCalendar, PDF and Word.

Each format is one module with one pure function from plan files to bytes; `formats.py`
declares them (file name, the libraries each needs), and the tasks that write them into a run
folder are tasks/exports.py. The libraries of the calendar, PDF and Word formats come with the
package's `export` extra; a module of a format is imported by name, only once its libraries are
known to be installed, so the core install never imports them.
"""
