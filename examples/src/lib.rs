//! Code the examples share: the seed's `Foo` custom resource and its controller, run by the
//! `foo_controller` example and told as a story by the `demo`.

pub mod foo;
