"""The offline demo: a local server for the bundled examples/ and the demo's configuration."""

from aggregator.demo.config import demo_settings_toml, examples_dir
from aggregator.demo.server import DemoServer, start_demo_server

__all__ = ["DemoServer", "demo_settings_toml", "examples_dir", "start_demo_server"]
