"""The attribution methods: the registry of Captum calls and the exact batched fast path
for the tutorial's `Net`.
"""
