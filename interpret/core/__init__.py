"""The model and what every explanation stands on: weights, parameters, preprocessing,
baselines, devices, rendering, and the runtime's caches, workers and memory settings.
"""
