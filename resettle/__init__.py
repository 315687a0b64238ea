"""resettle core: models, pure rules, policy loading, database setup."""
