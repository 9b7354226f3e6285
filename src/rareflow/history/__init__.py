"""History: the policy timeline as data, the history scenario, calibration and backtests.

Modules: ``timeline`` (events and their instruments), ``scenario`` (the history scenario),
``observed`` (customs magnet exports), ``simulator`` (batched runs), ``calibrate``, ``metrics``,
``backtest``, ``report`` (HTML) and ``crisis2010`` (the 2010-2011 episode).
"""
