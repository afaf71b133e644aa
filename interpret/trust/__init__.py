"""How far to trust a map: faithfulness (deletion/insertion, infidelity, sensitivity), the
model-randomization sanity check, and agreement between methods' maps.
"""
