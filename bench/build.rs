//! Compiles the C epoll echo peer (peers/c_epoll_echo.c) with the machine's C
//! compiler into OUT_DIR; its path reaches the runner as `C_EPOLL_ECHO`
//! (empty when no compiler is found: the runner then skips that peer).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=peers/c_epoll_echo.c");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("c_epoll_echo");
    let built = cc::Build::new()
        .opt_level(2)
        .try_get_compiler()
        .ok()
        .and_then(|compiler| {
            let mut cmd = compiler.to_command();
            cmd.arg("peers/c_epoll_echo.c").arg("-o").arg(&out);
            cmd.status().ok()
        })
        .is_some_and(|s| s.success());
    if built {
        println!("cargo:rustc-env=C_EPOLL_ECHO={}", out.display());
    } else {
        println!("cargo:warning=no C compiler: the C epoll echo peer will be skipped");
        println!("cargo:rustc-env=C_EPOLL_ECHO=");
    }
}
