"""The stream runtime: the only package that imports Faust and aiokafka.

* :mod:`.app` builds the worker's Faust app from a table of routes (topics,
  handler, batch window, owner-only timers) and its web pages;
* :mod:`.patches` replaces three Faust internals (fetch wait, message
  hand-over, input batches), pinned to the versions they were copied from;
* :mod:`.tuning` sets up the process (garbage collector, malloc, event loop,
  memory probe);
* :mod:`.web` serves the decision API, the alerts API and the console feed;
* :mod:`.output_producer` and :mod:`.topics` produce outputs and create topics;
* :mod:`.worker` starts it all.
"""
