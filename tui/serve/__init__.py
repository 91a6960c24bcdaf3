"""`wdtui serve`: the explorer in a web browser, through textual-serve, behind a token.

Each browser tab that connects runs its own explorer process (`python -m tui.cli` with the
explorer's options), which Textual draws through its web driver; the server relays bytes and
keys. Nothing here draws: the app is the one the terminal runs.

- options.py   the command line: the explorer's options and the server's, checked up front
- access.py    who may use it: the token (query or cookie) and the websocket's origin
- sessions.py  one explorer process per tab, and how it ends (quit, then signals)
- server.py    the aiohttp application: the page, the websocket, downloads, the session limit
- command.py   `wdtui serve` itself: textual-serve imported only here, Ctrl+C ends everything
"""
