// A self-signed certificate for 127.0.0.1, made with OpenSSL's API when a
// test runs so no key is checked in. It serves as a server's and a client's
// certificate and as the only trusted authority on both sides; write_files()
// puts it where APIs that take PEM file names (http::pool_options) find it.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <unistd.h>

namespace courier_test {

struct self_signed {
    std::string cert_pem, key_pem;

    self_signed() {
        EVP_PKEY* key = EVP_EC_gen("P-256");
        X509* x = X509_new();
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, key);
        X509_NAME* name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1,
                                   -1, 0);
        X509_set_issuer_name(x, name);
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
        for (const char* ext : {"critical,CA:TRUE", "IP:127.0.0.1"}) {
            const int nid = ext[0] == 'I' ? NID_subject_alt_name : NID_basic_constraints;
            X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &v3, nid, ext);
            X509_add_ext(x, e, -1);
            X509_EXTENSION_free(e);
        }
        X509_sign(x, key, EVP_sha256());
        cert_pem = to_pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
        key_pem = to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
        X509_free(x);
        EVP_PKEY_free(key);
    }

    template <class Write>
    static std::string to_pem(Write write) {
        BIO* b = BIO_new(BIO_s_mem());
        write(b);
        char* data = nullptr;
        const long n = BIO_get_mem_data(b, &data);
        std::string out(data, static_cast<std::size_t>(n));
        BIO_free(b);
        return out;
    }

    /// Trusts the certificate in `ctx`, and with `as_identity` presents it.
    void use_in(boost::asio::ssl::context& ctx, bool as_identity) const {
        ctx.add_certificate_authority(boost::asio::buffer(cert_pem));
        if (as_identity) {
            ctx.use_certificate_chain(boost::asio::buffer(cert_pem));
            ctx.use_private_key(boost::asio::buffer(key_pem), boost::asio::ssl::context::pem);
        }
    }

    /// The certificate and key as PEM files in a fresh temporary directory,
    /// removed with this object.
    struct files {
        std::filesystem::path dir, cert, key;
        explicit files(std::filesystem::path d) : dir(std::move(d)), cert(dir / "cert.pem"), key(dir / "key.pem") {}
        files(const files&) = delete;
        files& operator=(const files&) = delete;
        ~files() {
            std::error_code ignored;
            std::filesystem::remove_all(dir, ignored);
        }
    };
    [[nodiscard]] files write_files() const {
        static std::atomic<int> counter{0};
        auto dir = std::filesystem::temp_directory_path() /
                   ("courier-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "cert.pem") << cert_pem;
        std::ofstream(dir / "key.pem") << key_pem;
        return files(dir);
    }
};

}  // namespace courier_test
