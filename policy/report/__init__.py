"""The funnel report (spec section 11): how the agreed funnel performs on real leads.

Phases, in order: :mod:`~policy.report.shape` (what the report needs from the policy),
:mod:`~policy.report.facts` (one row of facts per record), :mod:`~policy.report.compute`
(every figure, in SQL on DuckDB), :mod:`~policy.report.build` (ties them together) and
the renderers :mod:`~policy.report.markdown`, :mod:`~policy.report.html` and
:mod:`~policy.report.charts`.
"""
