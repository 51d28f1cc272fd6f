-- The OIDC issuer's id of a user (its ID tokens' sub), bound at the
-- user's first sign-in: a later ID token with the same email but another
-- sub is another account of the issuer and is refused.
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
