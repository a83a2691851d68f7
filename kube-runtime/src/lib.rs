//! Building blocks for controllers: watchers, reflectors and stores.
