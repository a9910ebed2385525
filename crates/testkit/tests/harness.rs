//! The harness itself: servers start, databases are isolated, and templates are copied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::{Connection, PgConnection, RunQueryDsl};
use std::io::{Read, Write};
use testkit::{PgCluster, RedisServer};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count_rows(url: &str) -> i64 {
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query("SELECT count(*) AS n FROM marker")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
}

#[test]
fn each_test_database_is_a_separate_copy_of_the_template() {
    let cluster = PgCluster::shared();
    let init = |url: &str| {
        let mut conn = PgConnection::establish(url).unwrap();
        diesel::sql_query("CREATE TABLE marker (id INT)")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("INSERT INTO marker VALUES (1)")
            .execute(&mut conn)
            .unwrap();
    };
    let a = cluster.database_from_template("harness", init);
    let b = cluster.database_from_template("harness", |_| panic!("template is made only once"));
    assert_ne!(a.url(), b.url());
    let mut conn = PgConnection::establish(&a.url()).unwrap();
    diesel::sql_query("INSERT INTO marker VALUES (2)")
        .execute(&mut conn)
        .unwrap();
    assert_eq!(count_rows(&a.url()), 2);
    assert_eq!(count_rows(&b.url()), 1);
}

#[test]
fn dropped_database_is_gone() {
    let cluster = PgCluster::shared();
    let db = cluster.fresh_database();
    let url = db.url();
    assert!(PgConnection::establish(&url).is_ok());
    drop(db);
    assert!(PgConnection::establish(&url).is_err());
}

#[test]
fn redis_answers_ping_and_prefixes_are_unique() {
    let server = RedisServer::shared();
    let (a, b) = (server.fresh(), server.fresh());
    assert_ne!(a.prefix, b.prefix);
    let addr = a.url.trim_start_matches("redis://").to_owned();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"+PONG\r\n");
}

#[test]
fn dedicated_redis_can_be_stopped_and_resumed() {
    let server = RedisServer::start();
    let addr = server.url().trim_start_matches("redis://").to_owned();
    server.stop();
    assert!(std::net::TcpStream::connect(&addr).is_err());
    server.resume();
    assert!(std::net::TcpStream::connect(&addr).is_ok());
}
