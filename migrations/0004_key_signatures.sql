-- What a judged key's own requests look like (dominant template bands, elicitation), so the
-- linker can hand a component's verdict the signature of the campaign keys it rests on.
ALTER TABLE fingerprint_keys ADD COLUMN signature TEXT;  -- JSON {"bands":[…],"eliciting":bool}
-- A component's verdict carries the signature of the campaign keys its members sit on; a change
-- of signature is pushed to the members like a change of verdict.
ALTER TABLE clusters ADD COLUMN signature TEXT;
