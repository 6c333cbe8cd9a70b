"""Site configuration: one schema, loaded in layers."""

from sunaba.config.loader import ConfigError, Problem, load_config, masked
from sunaba.config.schema import SiteConfig, parse_size

__all__ = ["ConfigError", "Problem", "SiteConfig", "load_config", "masked", "parse_size"]
