"""Storage: models, engine and sessions, migrations, work claims."""
