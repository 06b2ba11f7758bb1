// MOI's own wallet and signer (npm js-moi-wallet, pinned in package.json) for api/tests/it/moi.rs:
//   node moi_wallet.mjs new            -> {"mnemonic","participant_id","public_key"}
//   node moi_wallet.mjs sign MNEMONIC  -> the ECDSA_S256 signature of stdin, hex, as MOI serializes it
import { Wallet } from "js-moi-wallet";

const [mode, mnemonic] = process.argv.slice(2);
const read = async () => {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks);
};
if (mode === "new") {
  const w = await Wallet.createRandom();
  const id = await w.getIdentifier();
  console.log(JSON.stringify({ mnemonic: w.mnemonic, participant_id: id.toHex(), public_key: w.getPublicKey() }));
} else if (mode === "sign") {
  const w = Wallet.fromMnemonicSync(mnemonic);
  const message = await read();
  const sig = await w.sign(message, 0, w.signingAlgorithms["ecdsa_secp256k1"]);
  if (!w.verify(message, sig, w.getPublicKey())) throw new Error("MOI's own verify refused its signature");
  console.log(sig);
} else {
  console.error("usage: moi_wallet.mjs new | sign MNEMONIC < message");
  process.exit(2);
}
