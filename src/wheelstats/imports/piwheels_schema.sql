-- The tables of a piwheels PostgreSQL database that `wheelstats import piwheels`
-- reads, as piwheels (piwheels/initdb/sql/create_piwheels.sql, schema 0.19 and
-- later) defines them, less the columns and tables the import does not use.
-- Tests create them in a throwaway cluster; docs/piwheels-dump.md lists the
-- columns of the dump made from them.

CREATE TABLE packages (
    package     VARCHAR(200) NOT NULL,
    skip        VARCHAR(100) DEFAULT '' NOT NULL,
    description VARCHAR(200) DEFAULT '' NOT NULL,
    CONSTRAINT packages_pk PRIMARY KEY (package)
);

CREATE TABLE versions (
    package  VARCHAR(200) NOT NULL,
    version  VARCHAR(200) NOT NULL,
    released TIMESTAMP DEFAULT '1970-01-01 00:00:00' NOT NULL,
    skip     VARCHAR(100) DEFAULT '' NOT NULL,
    yanked   BOOLEAN DEFAULT false NOT NULL,
    CONSTRAINT versions_pk PRIMARY KEY (package, version),
    CONSTRAINT versions_package_fk FOREIGN KEY (package) REFERENCES packages ON DELETE CASCADE
);

CREATE TABLE builds (
    build_id  SERIAL NOT NULL,
    package   VARCHAR(200) NOT NULL,
    version   VARCHAR(200) NOT NULL,
    built_by  INTEGER NOT NULL,
    built_at  TIMESTAMP NOT NULL DEFAULT (NOW() AT TIME ZONE 'UTC'),
    duration  INTERVAL NOT NULL,
    status    BOOLEAN DEFAULT true NOT NULL,
    abi_tag   VARCHAR(100) NOT NULL,
    CONSTRAINT builds_pk PRIMARY KEY (build_id),
    CONSTRAINT builds_unique UNIQUE (package, version, built_at, built_by),
    CONSTRAINT builds_versions_fk FOREIGN KEY (package, version) REFERENCES versions ON DELETE CASCADE,
    CONSTRAINT builds_built_by_ck CHECK (built_by >= 0)
);

CREATE TABLE files (
    filename            VARCHAR(255) NOT NULL,
    build_id            INTEGER NOT NULL,
    filesize            INTEGER NOT NULL,
    filehash            CHAR(64) NOT NULL,
    package_tag         VARCHAR(200) NOT NULL,
    package_version_tag VARCHAR(200) NOT NULL,
    py_version_tag      VARCHAR(100) NOT NULL,
    abi_tag             VARCHAR(100) NOT NULL,
    platform_tag        VARCHAR(100) NOT NULL,
    requires_python     VARCHAR(100) NULL,
    CONSTRAINT files_pk PRIMARY KEY (filename),
    CONSTRAINT files_builds_fk FOREIGN KEY (build_id) REFERENCES builds (build_id) ON DELETE CASCADE
);

CREATE TABLE dependencies (
    filename            VARCHAR(255) NOT NULL,
    tool                VARCHAR(10) DEFAULT 'apt' NOT NULL,
    dependency          VARCHAR(255) NOT NULL,
    CONSTRAINT dependencies_pk PRIMARY KEY (filename, tool, dependency),
    CONSTRAINT dependencies_files_fk FOREIGN KEY (filename) REFERENCES files (filename) ON DELETE CASCADE,
    CONSTRAINT dependencies_tool_ck CHECK (tool IN ('apt', 'pip', ''))
);

CREATE TABLE downloads (
    filename            VARCHAR(255) NOT NULL,
    accessed_by         INET NOT NULL,
    accessed_at         TIMESTAMP NOT NULL,
    arch                VARCHAR(100) DEFAULT NULL,
    distro_name         VARCHAR(100) DEFAULT NULL,
    distro_version      VARCHAR(100) DEFAULT NULL,
    os_name             VARCHAR(100) DEFAULT NULL,
    os_version          VARCHAR(100) DEFAULT NULL,
    py_name             VARCHAR(100) DEFAULT NULL,
    py_version          VARCHAR(100) DEFAULT NULL,
    installer_name      VARCHAR(20) DEFAULT NULL,
    installer_version   VARCHAR(100) DEFAULT NULL,
    setuptools_version  VARCHAR(100) DEFAULT NULL
);

CREATE TABLE searches (
    package             VARCHAR(200) NOT NULL,
    accessed_by         INET NOT NULL,
    accessed_at         TIMESTAMP NOT NULL,
    arch                VARCHAR(100) DEFAULT NULL,
    distro_name         VARCHAR(100) DEFAULT NULL,
    distro_version      VARCHAR(100) DEFAULT NULL,
    os_name             VARCHAR(100) DEFAULT NULL,
    os_version          VARCHAR(100) DEFAULT NULL,
    py_name             VARCHAR(100) DEFAULT NULL,
    py_version          VARCHAR(100) DEFAULT NULL,
    installer_name      VARCHAR(20) DEFAULT NULL,
    installer_version   VARCHAR(100) DEFAULT NULL,
    setuptools_version  VARCHAR(100) DEFAULT NULL
);

CREATE TABLE project_page_hits (
    package     VARCHAR(200) NOT NULL,
    accessed_by INET NOT NULL,
    accessed_at TIMESTAMP NOT NULL,
    user_agent  VARCHAR(2000),
    bot         BOOLEAN DEFAULT false NOT NULL
);

CREATE TABLE project_json_downloads (
    package     VARCHAR(200) NOT NULL,
    accessed_by INET NOT NULL,
    accessed_at TIMESTAMP NOT NULL,
    user_agent  VARCHAR(2000)
);

CREATE TABLE web_page_hits (
    page        VARCHAR(30) NOT NULL,
    accessed_by INET NOT NULL,
    accessed_at TIMESTAMP NOT NULL,
    user_agent  VARCHAR(2000),
    bot         BOOLEAN DEFAULT false NOT NULL
);
