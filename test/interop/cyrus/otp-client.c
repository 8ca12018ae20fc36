/* Cyrus SASL's OTP client (libsasl2 with the OTP plugin, Debian libsasl2-modules-otp) for
   test/interop/cyrus-otp.test.ts. Reads lines "PASSPHRASE<TAB>CHALLENGE" from stdin and writes,
   per line, "ok<TAB>INITIAL<TAB>RESPONSE" (INITIAL with NUL written as \0) or "errN<TAB>DETAIL".
   Build: cc -o otp-client otp-client.c -lsasl2 */
#include <sasl/sasl.h>
#include <stdio.h>
#include <string.h>

static const char *pass = "";

static int get_name(void *ctx, int id, const char **result, unsigned *len) {
  (void)ctx;
  *result = id == SASL_CB_AUTHNAME ? "bob" : "";
  if (len) *len = strlen(*result);
  return SASL_OK;
}

static int get_secret(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **out) {
  static union { sasl_secret_t s; char buf[sizeof(sasl_secret_t) + 2048]; } secret;
  (void)conn; (void)ctx; (void)id;
  secret.s.len = strlen(pass);
  memcpy(secret.s.data, pass, secret.s.len + 1);
  *out = &secret.s;
  return SASL_OK;
}

int main(void) {
  sasl_callback_t cbs[] = {
    { SASL_CB_AUTHNAME, (int (*)(void))get_name, NULL },
    { SASL_CB_USER, (int (*)(void))get_name, NULL },
    { SASL_CB_PASS, (int (*)(void))get_secret, NULL },
    { SASL_CB_LIST_END, NULL, NULL } };
  if (sasl_client_init(cbs) != SASL_OK) { fputs("sasl_client_init failed\n", stderr); return 1; }
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = 0;
    pass = line;
    const char *challenge = tab + 1;
    sasl_conn_t *conn;
    const char *out = NULL, *mech = NULL;
    unsigned outlen = 0;
    if (sasl_client_new("beep", "localhost", NULL, NULL, NULL, 0, &conn) != SASL_OK) { puts("err-new\t"); fflush(stdout); continue; }
    int r = sasl_client_start(conn, "OTP", NULL, &out, &outlen, &mech);
    if (r != SASL_CONTINUE && r != SASL_OK) { printf("err%d\t%s\n", r, sasl_errdetail(conn)); sasl_dispose(&conn); fflush(stdout); continue; }
    char initial[600] = "";
    for (unsigned i = 0, o = 0; i < outlen && o + 3 < sizeof initial; i++) {
      if (out[i] == 0) { initial[o++] = '\\'; initial[o++] = '0'; } else initial[o++] = out[i];
      initial[o] = 0;
    }
    r = sasl_client_step(conn, challenge, strlen(challenge), NULL, &out, &outlen);
    if (r == SASL_OK || r == SASL_CONTINUE) printf("ok\t%s\t%.*s\n", initial, (int)outlen, out ? out : "");
    else printf("err%d\t%s\n", r, sasl_errdetail(conn));
    sasl_dispose(&conn);
    fflush(stdout);
  }
  return 0;
}
