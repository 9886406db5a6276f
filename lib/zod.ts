/**
 * The schema library every validated document goes through: zod/mini with
 * English messages. Import it as a namespace (`import * as z from "…/zod.ts"`):
 * the bundler then keeps only the functions a schema calls, where zod's classic
 * API and a named `{ z }` import pull in the whole library and every locale
 * (about half of the deploy bundle).
 *
 * zod/mini carries no messages of its own ("Invalid input" for everything);
 * the English locale gives the admin API and `npm run policy:validate` the same
 * problems, word for word, that the classic API reported.
 */
import { en } from "zod/locales";
import { config } from "zod/mini";

config(en());

export * from "zod/mini";
