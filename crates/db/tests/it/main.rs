//! Integration tests of the database layer on a real SQLite file and on the test
//! PostgreSQL (RENLIAN_TEST_POSTGRES). One binary for the crate; a module per topic.

mod migrate;
