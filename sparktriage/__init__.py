"""sparktriage: why did my Spark job fail?

Shared pieces that fit none of the user's top-level folders live here: the
command line, settings, shared record types, the store and the sinks.
"""

__version__ = "0.1.0"
