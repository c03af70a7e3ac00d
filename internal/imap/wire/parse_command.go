package wire

// parseCommand reads the command name and its arguments, after the tag
// (RFC 9051 section 9, command). The caller checks for trailing octets.
func (r *Reader) parseCommand() *Command {
	var buf [16]byte
	name := r.keyword(buf[:])
	switch string(name) {
	// command-any, and the commands of extensions without arguments.
	case "CAPABILITY":
		return &Command{Name: "CAPABILITY"}
	case "NOOP":
		return &Command{Name: "NOOP"}
	case "LOGOUT":
		return &Command{Name: "LOGOUT"}
	case "STARTTLS":
		return &Command{Name: "STARTTLS"}
	case "NAMESPACE":
		return &Command{Name: "NAMESPACE"}
	case "CHECK":
		return &Command{Name: "CHECK"}
	case "CLOSE":
		return &Command{Name: "CLOSE"}
	case "UNSELECT":
		return &Command{Name: "UNSELECT"}
	case "EXPUNGE":
		return &Command{Name: "EXPUNGE"}
	case "IDLE":
		return &Command{Name: "IDLE"}
	case "UNAUTHENTICATE":
		return &Command{Name: "UNAUTHENTICATE"}

	case "LOGIN":
		return &Command{Name: "LOGIN", Args: r.parseLogin()}
	case "AUTHENTICATE":
		return &Command{Name: "AUTHENTICATE", Args: r.parseAuthenticate()}
	case "ENABLE":
		return &Command{Name: "ENABLE", Args: r.parseEnable()}
	case "ID":
		return &Command{Name: "ID", Args: r.parseID()}
	case "SORT":
		return &Command{Name: "SORT", Args: r.parseSort()}
	case "NOTIFY":
		return &Command{Name: "NOTIFY", Args: r.parseNotify()}
	case "GETMETADATA":
		return &Command{Name: "GETMETADATA", Args: r.parseGetMetadata()}
	case "SETMETADATA":
		return &Command{Name: "SETMETADATA", Args: r.parseSetMetadata()}
	case "REPLACE":
		return &Command{Name: "REPLACE", Args: r.parseReplace()}
	case "THREAD":
		return &Command{Name: "THREAD", Args: r.parseThread()}
	case "GETQUOTA":
		r.sp()
		return &Command{Name: "GETQUOTA", Args: &QuotaRootArgs{Root: r.astring()}}
	case "GETQUOTAROOT":
		return &Command{Name: "GETQUOTAROOT", Args: r.parseMailboxArg()}
	case "SETQUOTA":
		return &Command{Name: "SETQUOTA", Args: r.parseSetQuota()}
	case "COMPRESS":
		return &Command{Name: "COMPRESS", Args: r.parseCompress()}

	case "SELECT":
		return &Command{Name: "SELECT", Args: r.parseSelect()}
	case "EXAMINE":
		return &Command{Name: "EXAMINE", Args: r.parseSelect()}
	case "CREATE":
		return &Command{Name: "CREATE", Args: r.parseCreate()}
	case "DELETE":
		return &Command{Name: "DELETE", Args: r.parseMailboxArg()}
	case "SUBSCRIBE":
		return &Command{Name: "SUBSCRIBE", Args: r.parseMailboxArg()}
	case "UNSUBSCRIBE":
		return &Command{Name: "UNSUBSCRIBE", Args: r.parseMailboxArg()}
	case "RENAME":
		return &Command{Name: "RENAME", Args: r.parseRename()}
	case "LIST":
		return &Command{Name: "LIST", Args: r.parseList()}
	case "LSUB":
		return &Command{Name: "LSUB", Args: r.parseLsub()}
	case "STATUS":
		return &Command{Name: "STATUS", Args: r.parseStatus()}
	case "APPEND":
		return &Command{Name: "APPEND", Args: r.parseAppend()}

	case "SEARCH":
		return &Command{Name: "SEARCH", Args: r.parseSearch()}
	case "ESEARCH":
		return &Command{Name: "ESEARCH", Args: r.parseESearch()}
	case "FETCH":
		return &Command{Name: "FETCH", Args: r.parseFetch(false)}
	case "STORE":
		return &Command{Name: "STORE", Args: r.parseStore()}
	case "COPY":
		return &Command{Name: "COPY", Args: r.parseCopy()}
	case "MOVE":
		return &Command{Name: "MOVE", Args: r.parseCopy()}
	case "UID":
		return r.parseUID()
	}
	r.fail("unknown command")
	return nil
}

// parseUID reads the command after a UID prefix (RFC 9051 section 6.4.9;
// RFC 6851 for MOVE, RFC 4315 for UID EXPUNGE).
func (r *Reader) parseUID() *Command {
	r.sp()
	var buf [8]byte
	name := r.keyword(buf[:])
	switch string(name) {
	case "FETCH":
		return &Command{Name: "FETCH", UID: true, Args: r.parseFetch(true)}
	case "STORE":
		return &Command{Name: "STORE", UID: true, Args: r.parseStore()}
	case "COPY":
		return &Command{Name: "COPY", UID: true, Args: r.parseCopy()}
	case "MOVE":
		return &Command{Name: "MOVE", UID: true, Args: r.parseCopy()}
	case "SEARCH":
		return &Command{Name: "SEARCH", UID: true, Args: r.parseSearch()}
	case "SORT":
		return &Command{Name: "SORT", UID: true, Args: r.parseSort()}
	case "REPLACE":
		return &Command{Name: "REPLACE", UID: true, Args: r.parseReplace()}
	case "THREAD":
		return &Command{Name: "THREAD", UID: true, Args: r.parseThread()}
	case "EXPUNGE":
		r.sp()
		return &Command{Name: "EXPUNGE", UID: true, Args: &ExpungeArgs{Set: r.seqSet(0)}}
	}
	r.fail("unknown UID command")
	return nil
}

// parseCopy reads the arguments of COPY and MOVE: SP sequence-set SP mailbox.
func (r *Reader) parseCopy() *CopyArgs {
	r.sp()
	set := r.seqSet(0)
	r.sp()
	return &CopyArgs{Set: set, Mailbox: r.mailbox()}
}
