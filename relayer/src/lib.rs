//! Pact relayer: the signer daemons that sign deterministic EIP-712 batches of finalized
//! home-chain identity events, the relayer that lands threshold-signed batches on each satellite
//! chain's Lite contracts, and the keeper that fires the escrow's 72-hour automatic steps.
