"""Dunning: escalating reminder letters, interest, fees, promises, disputes and blocks."""
