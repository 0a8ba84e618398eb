//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and generates tonic servers.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/tfplugin5.proto", "proto/grpc_controller.proto"];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
