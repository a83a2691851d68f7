//! Configurations that point the API server at a webhook server.
