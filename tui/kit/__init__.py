"""The console's list kit: one paged list screen, one virtual table, one worker idiom.

Importing this package imports nothing; the command line uses :mod:`.errors` alone.
"""
