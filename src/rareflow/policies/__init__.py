"""Trade-policy instruments: typed descriptions (``instruments``) and their monthly effects."""
