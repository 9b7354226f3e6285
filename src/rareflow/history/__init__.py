"""History: the policy timeline as data, the history scenario, calibration and backtests.

Modules: ``timeline`` (events and their instruments), ``scenario`` (the history scenario),
``observed`` (customs magnet exports), ``simulator`` (batched runs), ``calibrate``, ``metrics``,
``backtest``, ``report`` (HTML), ``crisis2010`` (the 2010-2011 episode) and ``hindcast`` (its
prices on record, scored against held-out ones).
"""
