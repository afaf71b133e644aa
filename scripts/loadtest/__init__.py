"""The load test's parts: `server` (start and measure `python app.py`), `generator` (the varied
requests and the concurrent clients) and `verify` (the library's answer and the comparison).
`scripts/load_test.py` is the command line that puts them together.
"""
