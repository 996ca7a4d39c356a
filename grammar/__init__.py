"""The funnel policy grammar, shipped inside the library as ``policy._grammar``."""
