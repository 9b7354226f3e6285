"""Deals: each party's policy changes, with dates and conditions, evaluated against the
scenario they change (``rareflow deals evaluate``) and varied over a grid of concession levels
(``rareflow deals frontier``).

``model.py`` reads and checks a deal file; ``arms.py`` builds its two arms (no deal, deal)
as one scenario whose draws switch the terms on; ``evaluate.py`` reports per party;
``frontier.py`` runs a grid of concession levels as one batch of draws.
"""
