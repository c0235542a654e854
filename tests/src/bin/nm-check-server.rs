//! `nm-check-server`: the tiny HTTP server NetworkManager's connectivity
//! check talks to in the NetworkManager tests. Answers every GET with
//! `200 OK` and a body read per request from `--body-dir`: the file named
//! after the client's /24 (`10.31.1.body` for 10.31.1.x) if there is one,
//! else `default.body` — so a test puts one link or all of them behind a
//! "captive portal" (a wrong body → PORTAL) and back (the right one → FULL).

use anyhow::{Context, Result};
use clap::Parser;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser, Debug)]
struct Args {
    /// Listen address, e.g. 0.0.0.0:80.
    #[arg(long)]
    addr: SocketAddr,
    /// Directory of `<a.b.c>.body` / `default.body` files.
    #[arg(long)]
    body_dir: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(args.addr).with_context(|| format!("bind {}", args.addr))?;
    eprintln!("listening on {}", args.addr);
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        if let Err(e) = answer(conn, &args.body_dir) {
            eprintln!("request: {e:#}");
        }
    }
    Ok(())
}

fn answer(conn: TcpStream, body_dir: &Path) -> Result<()> {
    let peer = conn.peer_addr()?.ip().to_string();
    let net = peer.rsplit_once('.').map(|(n, _)| n).unwrap_or(&peer);
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Skip the headers up to the blank line.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let body = std::fs::read(body_dir.join(format!("{net}.body")))
        .or_else(|_| std::fs::read(body_dir.join("default.body")))
        .unwrap_or_default();
    eprintln!(
        "{peer} {} -> {:?}",
        request.trim(),
        String::from_utf8_lossy(&body)
    );
    let mut out = conn;
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body)?;
    out.flush()?;
    Ok(())
}
