"""Labeled CIFAR-10 images and what is computed over them: the image sets and where they
come from, sampling, training loaders, predictions, browsing, class strategies, and the
registry of models the app offers.
"""
