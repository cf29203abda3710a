//! The subxt macro reads `metadata/pot.scale` while expanding; cargo does not see that read, so
//! without this a regenerated metadata file would leave the generated API stale.
fn main() {
	println!("cargo:rerun-if-changed=../metadata/pot.scale");
}
