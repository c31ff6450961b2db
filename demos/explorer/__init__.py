"""The explorer: draw a digit in the browser and watch a real network read it and learn.

``python -m demos.explorer`` serves one page on 127.0.0.1.  All the maths runs
here, in the engine (:mod:`.engine`); the page draws what the JSON API
(:mod:`.api`, served by :mod:`.server`) returns and computes nothing itself.
"""
