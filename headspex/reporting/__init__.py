"""What every report shares: the verdict written from the numbers (:mod:`.verdict`), the trust warnings
(:mod:`.trust`; :func:`~headspex.reporting.trust.warning_lines` gives them as lines for a terminal), the
1-based head labels of every user-facing output (:mod:`.labels`) and the offline HTML page (:mod:`.page`).

Used by the layer-range study's report (:mod:`headspex.reporting.study_report`) and the whole-model curves' report
(:mod:`headspex.reporting.curve_report`); nothing here needs a model.
"""
