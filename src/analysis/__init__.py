"""Workshop-feedback analytics: from raw survey exports to offline HTML reports.

The pipeline flows one way, one module per stage::

    io -> codebook -> clean -> privacy -> (scales -> profiles -> compare -> reflect)
       -> plots -> report

``simulate`` writes a synthetic study with planted truth; ``cli`` is the
command-line face (``python -m analysis ...``).
"""

__version__ = "0.1.0"
