"""The local web page (`batch-uploader serve`): the same pipeline as the CLI, driven from a browser.

Nothing here validates, groups or sends: the page calls `pipeline.prepare` for the preview and
`pipeline.run` for checks, uploads and retries, exactly as `cli.py` does. `web.command` is
imported with the CLI, so this package imports nothing heavy itself: the app (`web.app`,
Starlette) and uvicorn load only when `serve` runs.
"""
