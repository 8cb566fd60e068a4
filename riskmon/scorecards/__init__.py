"""Scorecards fitted from a lender's own history: ``riskmon model fit-scorecard``.

``data`` reads the history (CSV, JSON lines of applications with an outcome,
or a recorded stream with repayments) into characteristics and labels;
``fit`` bins each characteristic (monotonic optimal binning, optbinning),
turns bins into weights of evidence, drops weak characteristics by
information value, fits a logistic regression and scales it to points;
``report`` writes the sign-off report in HTML. The fitted scorecard is a
:class:`riskmon.scorecard_points.PointsScorecard`, the policy's scorecard.
"""
