"""One module per group of ``pyrun`` subcommands; each adds its parsers and sets ``handler(api, args)``."""
