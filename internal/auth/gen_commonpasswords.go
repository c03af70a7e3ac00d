//go:build ignore

// gen_commonpasswords writes commonpasswords.txt, the list of common
// passwords the password policy refuses (policy.go):
//
//	go run gen_commonpasswords.go
//
// The list was compiled for postfach from public knowledge of how people
// choose passwords: the passwords that top the yearly "most common
// passwords" rankings and the analyses of leaked password corpora
// published over the last fifteen years (number runs, keyboard walks,
// "password", "iloveyou", names, pets, sports, places, swear words), with
// German, French, Spanish and Italian counterparts and words a mail
// server's users would reach for (mail, postfach, webmail). It is written
// out here from that knowledge, not copied from any file, and expanded by
// the rules below into the variants those analyses show users make: a
// digit run, a year or a "!" appended, letters swapped for look-alike
// digits. Entries are lower case; the policy folds case, strips appended
// digits and symbols (years too) and undoes look-alike digits before it
// looks a password up, so the list need not spell every variant.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
)

// top are whole passwords, as the rankings list them.
const top = `
123456 password 123456789 12345678 12345 qwerty 1234567 111111 1234567890 123123
abc123 1234 password1 iloveyou 1q2w3e4r 000000 qwerty123 zaq12wsx dragon sunshine
princess letmein 654321 monkey 27653 1qaz2wsx 123321 qwertyuiop superman asdfghjkl
trustno1 football baseball welcome admin master hello freedom whatever qazwsx
shadow michael jennifer jordan hunter ranger buster soccer harley batman andrew
tigger charlie robert thomas hockey killer george andrea asshole fuckyou 696969
pepper daniel access 123qwe qwe123 matrix mustang 666666 7777777 888888 987654321
121212 112233 123654 159753 147258 147258369 741852963 789456123 456789 987654
11111111 22222222 88888888 12341234 1234512345 123123123 123456123456 0987654321
1qazxsw2 zxcvbnm zxcvbn asdfgh asdf1234 qwer1234 1q2w3e 1q2w3e4r5t 1q2w3e4r5t6y
q1w2e3r4 q1w2e3r4t5 q1w2e3r4t5y6 qazwsxedc 1qaz2wsx3edc zaq1xsw2 zaq1xsw2cde3
qwertyuiop123 qwertyu qwertz qwertzuiop azerty azertyuiop asdfasdf qweasdzxc
qweasd 1qaz2wsx 2wsx3edc passw0rd p@ssw0rd p@ssword pa55word password123
password12 password1234 passwort passwort1 motdepasse contrasena contrasenya
iloveyou1 iloveyou2 loveyou lovely loveme love123 mylove fuckme fuckoff
letmein1 welcome1 welcome123 admin123 administrator root toor changeme default
secret secret123 test test123 testing guest guest123 login login123 user user123
demo sample temp temp123 abcd1234 abcdef abcdefg abcdefgh abc12345 a1b2c3 a1b2c3d4
aaaaaa aaaaaaaa qqqqqq qwqwqw 1a2b3c 1a2b3c4d 123abc 123qweasd 123qweasdzxc
zxc123 zxcv1234 zxcvbnm123 asdzxc 1234qwer 12qwaszx 1qw23e 1qaz 2wsx 3edc
starwars startrek pokemon pikachu naruto minecraft fortnite roblox zelda
mario metallica nirvana slipknot eminem beatles blink182 linkinpark
chelsea liverpool arsenal manutd manchester barcelona realmadrid juventus
bayern borussia schalke ajax celtic rangers yankees redsox cowboys steelers
lakers bulls packers eagles patriots raiders dolphins giants
jesus jesus1 christ blessed godisgood angel angels heaven
computer internet samsung iphone apple nokia google facebook yahoo hotmail
gmail outlook microsoft windows linux ubuntu android
mail email webmail postfach mailbox postmaster imap smtp pop3 server
qwerty1 qwerty12 qwerty1234 qwerty123456 1qazzaq1 zaq1zaq1 qazqaz
`

// words are what people build passwords from.
const words = `
love baby angel honey sweet sweetie sugar darling babygirl babyboy princess
prince queen king lady lucky happy smile sunny summer winter spring autumn
flower rose daisy lily tulip orchid jasmine butterfly rainbow star stars
moon sun sky ocean sea beach island paradise heaven dream dreams magic
fire water earth wind storm thunder lightning snow ice crystal diamond
gold golden silver money cash dollar rich million lottery
dragon tiger lion wolf bear eagle falcon hawk shark dolphin panther jaguar
leopard cheetah cobra viper snake spider scorpion phoenix unicorn monkey
donkey horse pony bunny rabbit kitten kitty puppy doggy doggie cat dog
fish turtle pinky pookie muffin cookie cupcake candy chocolate banana
apple orange cherry peach lemon strawberry pumpkin peanut butter coffee
pizza pasta burger cheese bacon chicken turkey
football soccer baseball basketball hockey tennis golf boxing racing
skater surfer hunter fisher killer ninja samurai warrior soldier
pirate cowboy sniper gamer player winner champion legend hero zombie
master lord boss chief captain doctor teacher student
batman superman spiderman ironman hulk thor loki joker gandalf frodo
hermione harrypotter potter voldemort vader yoda skywalker jedi
matrix neo trinity morpheus sherlock snoopy garfield scooby mickey minnie
barbie tweety bubbles sparky buddy rocky rocket shadow smokey ginger
pepper oreo max bella lucy daisy luna molly sadie maggie sophie chloe
bailey coco rusty lucky teddy toby jack duke bear charlie buster bandit
tucker zeus oscar milo simba nala loki jake sam rex
mustang corvette ferrari porsche lambo lamborghini bmw audi mercedes
toyota honda nissan mazda subaru harley yamaha ducati kawasaki suzuki
jeep chevy ford dodge camaro viper
london paris berlin munich hamburg vienna zurich rome madrid moscow
tokyo newyork chicago dallas texas florida california boston miami
germany deutschland france england america canada mexico brazil russia
china japan india italy spain poland holland austria swiss
america usa freedom liberty justice peace power energy
hello welcome letmein access secret private security password passwort
admin administrator manager office company business work
computer laptop desktop internet network system server mail email
music guitar piano drummer singer dancer rock metal rockstar
jordan michael jennifer jessica ashley amanda sarah emily hannah
nicole michelle melissa stephanie elizabeth samantha katie lauren rachel
anna maria sandra monika petra sabine claudia andrea julia laura lisa
sophia emma olivia ava mia isabella charlotte amelia harper evelyn
daniel david james john robert william richard joseph thomas charles
christopher matthew anthony mark donald steven paul andrew joshua kevin
brian george edward ronald timothy jason jeffrey ryan jacob gary nicholas
eric jonathan stephen larry justin scott brandon benjamin samuel frank
gregory raymond alexander patrick alex alexandra peter hans klaus jurgen
stefan thomas michael andreas markus martin christian tobias florian
lukas leon finn paul jonas felix maximilian elias noah luis ben
jean pierre marie sophie camille louis lucas hugo jules nathan
carlos juan jose luis miguel antonio manuel francisco pedro javier
giuseppe giovanni marco luca francesco alessandro andrea matteo
mohammed ahmed ali omar fatima aisha
iloveyou loveyou lovers lover forever always together family friends
friend bestfriend myself mylove mybaby sweetheart
whatever nothing something anything everything someone nobody
fuck fucker fucking shit bitch bastard dick pussy cock sex sexy horny
hottie hotstuff naughty kinky
cool awesome super great best number one
mother father mommy daddy mama papa sister brother family
school college university church god jesus christ angel devil
hallo liebe schatz geheim sonne mond stern blume katze hund maus
fussball sommer winter herbst freund freundin engel teufel
bonjour soleil amour chouchou loulou doudou chat chien
hola amor te amo corazon princesa mariposa carino
ciao amore tesoro
qwerty asdf zxcv
`

// suffixes are appended to words, as users do.
const suffixes = `1 12 123 1234 ! 1!`

func main() {
	set := map[string]bool{}
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if len(s) >= 4 {
			set[s] = true
		}
	}
	for _, w := range strings.Fields(top) {
		add(w)
		add(leet(w))
	}
	ws := strings.Fields(words)
	sfx := strings.Fields(suffixes)
	for _, w := range ws {
		add(w)
		add(leet(w))
		for _, s := range sfx {
			add(w + s)
		}
	}
	// Pairs people join: "iloveyou", "mylove", "loveyou" come from top;
	// add "ilove"+word and word+word doubling.
	for _, w := range ws {
		add("ilove" + w)
		add(w + w)
	}
	// Digit runs and repetitions of every length up to 16.
	for n := 4; n <= 16; n++ {
		var up, down strings.Builder
		for i := 0; i < n; i++ {
			up.WriteByte(byte('0' + (i+1)%10))
			down.WriteByte(byte('0' + (9-i%10+10)%10))
		}
		add(up.String())
		add(down.String())
		for d := '0'; d <= '9'; d++ {
			add(strings.Repeat(string(d), n))
		}
	}
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	f, err := os.Create("commonpasswords.txt")
	if err != nil {
		panic(err)
	}
	w := bufio.NewWriter(f)
	for _, s := range out {
		w.WriteString(s)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	if err := f.Close(); err != nil {
		panic(err)
	}
	fmt.Println(len(out), "entries")
}

// leet swaps letters for the look-alike digits and symbols people use.
func leet(s string) string {
	return strings.NewReplacer("a", "@", "o", "0", "e", "3", "i", "1", "s", "$").Replace(s)
}
