"""Static French reference data the demo chain is drawn from (cities, names, catalogue, verbatims).

Kept apart from the generators so that the numbers code stays short and readable.
"""

from __future__ import annotations

# (city, postal code, region, latitude, longitude, size weight: big cities get more stores
# and more traffic)
CITIES: tuple[tuple[str, str, str, float, float, float], ...] = (
    ("Paris", "75001", "Île-de-France", 48.8606, 2.3376, 3.0),
    ("Lyon", "69002", "Auvergne-Rhône-Alpes", 45.7578, 4.8320, 2.2),
    ("Marseille", "13001", "Provence-Alpes-Côte d'Azur", 43.2965, 5.3698, 2.2),
    ("Toulouse", "31000", "Occitanie", 43.6047, 1.4442, 1.9),
    ("Bordeaux", "33000", "Nouvelle-Aquitaine", 44.8378, -0.5792, 1.8),
    ("Lille", "59000", "Hauts-de-France", 50.6292, 3.0573, 1.8),
    ("Strasbourg", "67000", "Grand Est", 48.5734, 7.7521, 1.6),
    ("Rennes", "35000", "Bretagne", 48.1173, -1.6778, 1.5),
    ("Nantes", "44000", "Pays de la Loire", 47.2184, -1.5536, 1.7),
    ("Rouen", "76000", "Normandie", 49.4432, 1.0999, 1.3),
    ("Nice", "06000", "Provence-Alpes-Côte d'Azur", 43.7102, 7.2620, 1.6),
    ("Montpellier", "34000", "Occitanie", 43.6108, 3.8767, 1.6),
    ("Boulogne-Billancourt", "92100", "Île-de-France", 48.8397, 2.2399, 1.3),
    ("Grenoble", "38000", "Auvergne-Rhône-Alpes", 45.1885, 5.7245, 1.3),
    ("Dijon", "21000", "Bourgogne-Franche-Comté", 47.3220, 5.0415, 1.1),
    ("Angers", "49100", "Pays de la Loire", 47.4784, -0.5632, 1.1),
    ("Reims", "51100", "Grand Est", 49.2583, 4.0317, 1.1),
    ("Le Havre", "76600", "Normandie", 49.4944, 0.1079, 1.0),
    ("Brest", "29200", "Bretagne", 48.3904, -4.4861, 1.0),
    ("Tours", "37000", "Centre-Val de Loire", 47.3941, 0.6848, 1.1),
    ("Clermont-Ferrand", "63000", "Auvergne-Rhône-Alpes", 45.7772, 3.0870, 1.1),
    ("Limoges", "87000", "Nouvelle-Aquitaine", 45.8336, 1.2611, 0.9),
    ("Amiens", "80000", "Hauts-de-France", 49.8941, 2.2958, 0.9),
    ("Metz", "57000", "Grand Est", 49.1193, 6.1757, 1.0),
    ("Perpignan", "66000", "Occitanie", 42.6887, 2.8948, 0.9),
    ("Caen", "14000", "Normandie", 49.1829, -0.3707, 1.0),
    ("Orléans", "45000", "Centre-Val de Loire", 47.9030, 1.9093, 1.0),
    ("Versailles", "78000", "Île-de-France", 48.8049, 2.1204, 1.2),
    ("Aix-en-Provence", "13100", "Provence-Alpes-Côte d'Azur", 43.5297, 5.4474, 1.2),
    ("Annecy", "74000", "Auvergne-Rhône-Alpes", 45.8992, 6.1294, 1.0),
    ("La Rochelle", "17000", "Nouvelle-Aquitaine", 46.1603, -1.1511, 0.9),
    ("Saint-Étienne", "42000", "Auvergne-Rhône-Alpes", 45.4397, 4.3872, 1.0),
    ("Nancy", "54000", "Grand Est", 48.6921, 6.1844, 1.0),
    ("Le Mans", "72000", "Pays de la Loire", 48.0061, 0.1996, 0.9),
    ("Toulon", "83000", "Provence-Alpes-Côte d'Azur", 43.1242, 5.9280, 1.0),
    ("Besançon", "25000", "Bourgogne-Franche-Comté", 47.2378, 6.0241, 0.9),
    ("Pau", "64000", "Nouvelle-Aquitaine", 43.2951, -0.3708, 0.8),
    ("Vannes", "56000", "Bretagne", 47.6582, -2.7608, 0.8),
    ("Créteil", "94000", "Île-de-France", 48.7904, 2.4556, 1.1),
    ("Nîmes", "30000", "Occitanie", 43.8367, 4.3601, 0.9),
    ("Valenciennes", "59300", "Hauts-de-France", 50.3570, 3.5235, 0.8),
    ("Poitiers", "86000", "Nouvelle-Aquitaine", 46.5802, 0.3404, 0.8),
    ("Avignon", "84000", "Provence-Alpes-Côte d'Azur", 43.9493, 4.8055, 0.8),
    ("Saint-Malo", "35400", "Bretagne", 48.6493, -2.0257, 0.7),
    ("Cergy", "95000", "Île-de-France", 49.0364, 2.0761, 1.0),
    ("Mulhouse", "68100", "Grand Est", 47.7508, 7.3359, 0.8),
    ("Bayonne", "64100", "Nouvelle-Aquitaine", 43.4929, -1.4748, 0.8),
    ("Chambéry", "73000", "Auvergne-Rhône-Alpes", 45.5646, 5.9178, 0.7),
)

# (label, surface range in m²): the format drives surface, traffic and basket
FORMATS: tuple[tuple[str, float, float], ...] = (
    ("Centre-ville", 150.0, 500.0),
    ("Centre commercial", 300.0, 900.0),
    ("Retail park", 800.0, 1500.0),
)

FIRST_NAMES_F: tuple[str, ...] = (
    "Marie", "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Laura",
    "Pauline", "Anaïs", "Céline", "Nathalie", "Isabelle", "Sophie", "Sandrine", "Valérie",
    "Aurélie", "Émilie", "Claire", "Mathilde", "Lucie", "Charlotte", "Élodie", "Margaux",
    "Clémence", "Océane", "Juliette", "Alice", "Hélène", "Françoise", "Catherine", "Sylvie",
    "Christine", "Martine", "Nadia", "Fatima", "Yasmine", "Amandine", "Delphine", "Agnès",
    "Léna", "Zoé", "Louise", "Jeanne", "Margot", "Maëlys", "Solène", "Gaëlle",
)
FIRST_NAMES_M: tuple[str, ...] = (
    "Thomas", "Nicolas", "Julien", "Maxime", "Alexandre", "Antoine", "Hugo", "Lucas",
    "Louis", "Mathieu", "Romain", "Pierre", "Jean", "Philippe", "Laurent", "Stéphane",
    "Sébastien", "Christophe", "David", "Olivier", "François", "Éric", "Frédéric", "Benoît",
    "Guillaume", "Quentin", "Clément", "Théo", "Arthur", "Jules", "Gabriel", "Raphaël",
    "Mehdi", "Karim", "Yanis", "Bastien", "Jérôme", "Cédric", "Damien", "Loïc",
)
LAST_NAMES: tuple[str, ...] = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois",
    "Moreau", "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand",
    "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau",
    "Vincent", "Muller", "Lefebvre", "Faure", "André", "Mercier", "Blanc", "Guérin",
    "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin",
    "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier",
    "Masson", "Marchand", "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer",
    "Dufour", "Meunier", "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet",
    "Gaillard", "Barbier", "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt",
    "Roy", "Leroux", "Colin", "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert",
    "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre",
    "Benoît", "Rey", "Leclerc", "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte",
    "Le Gall", "Le Goff", "Kerbrat", "Nguyen", "Benali", "Haddad", "Da Silva", "Ferreira",
)
EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "orange.fr", "free.fr", "sfr.fr", "hotmail.fr", "laposte.net",
    "wanadoo.fr", "yahoo.fr", "outlook.fr", "icloud.com", "bbox.fr", "live.fr",
)
EMAIL_DOMAIN_WEIGHTS: tuple[float, ...] = (
    0.34, 0.14, 0.09, 0.06, 0.10, 0.05, 0.04, 0.05, 0.05, 0.03, 0.02, 0.03,
)

# category -> (VAT rate, share of the catalogue, subcategories: (name, price low, price high,
# nouns)), brands
Subcategory = tuple[str, float, float, tuple[str, ...]]
CATEGORIES: dict[str, tuple[float, float, tuple[Subcategory, ...]]] = {
    "Prêt-à-porter femme": (0.20, 0.26, (
        ("Robes", 29.0, 119.0, ("Robe portefeuille", "Robe chemise", "Robe longue", "Robe pull")),
        ("Hauts", 12.0, 59.0, ("Blouse", "Chemisier", "T-shirt", "Top", "Débardeur")),
        ("Pantalons", 29.0, 89.0, ("Pantalon large", "Jean droit", "Jean slim", "Chino")),
        ("Mailles", 25.0, 99.0, ("Pull col roulé", "Gilet", "Cardigan", "Pull marinière")),
        ("Manteaux", 69.0, 249.0, ("Manteau long", "Trench", "Doudoune", "Veste en jean")),
    )),
    "Prêt-à-porter homme": (0.20, 0.18, (
        ("Chemises", 29.0, 79.0, ("Chemise oxford", "Chemise en lin", "Surchemise")),
        ("T-shirts et polos", 12.0, 49.0, ("T-shirt col rond", "Polo piqué", "Henley")),
        ("Pantalons", 35.0, 99.0, ("Chino", "Jean brut", "Pantalon de costume", "Jogging")),
        ("Vestes", 79.0, 259.0, ("Blouson", "Parka", "Veste de costume", "Caban")),
    )),
    "Enfant": (0.20, 0.14, (
        ("Bébé", 8.0, 39.0, ("Body", "Pyjama", "Gigoteuse", "Ensemble naissance")),
        ("Fille", 10.0, 49.0, ("Robe", "Legging", "Sweat", "Jupe")),
        ("Garçon", 10.0, 49.0, ("Jean", "Sweat à capuche", "T-shirt", "Short")),
    )),
    "Chaussures": (0.20, 0.12, (
        ("Baskets", 39.0, 129.0, ("Baskets basses", "Baskets montantes", "Running")),
        ("Ville", 49.0, 159.0, ("Derbies", "Mocassins", "Escarpins", "Bottines")),
        ("Été", 19.0, 69.0, ("Sandales", "Espadrilles", "Mules")),
    )),
    "Accessoires": (0.20, 0.12, (
        ("Maroquinerie", 19.0, 149.0, ("Sac cabas", "Sac bandoulière", "Portefeuille")),
        ("Bijoux", 7.0, 49.0, ("Collier", "Boucles d'oreilles", "Bracelet", "Bague")),
        ("Textile", 9.0, 39.0, ("Écharpe", "Foulard", "Bonnet", "Ceinture", "Chaussettes")),
    )),
    "Beauté": (0.20, 0.08, (
        ("Soin", 9.0, 59.0, ("Crème hydratante", "Sérum", "Baume à lèvres", "Masque")),
        ("Parfum", 25.0, 89.0, ("Eau de toilette", "Eau de parfum", "Brume parfumée")),
        ("Maquillage", 6.0, 35.0, ("Mascara", "Rouge à lèvres", "Palette", "Vernis")),
    )),
    "Maison": (0.20, 0.08, (
        ("Linge de maison", 12.0, 89.0, ("Plaid", "Housse de couette", "Coussin", "Serviette")),
        ("Décoration", 6.0, 69.0, ("Bougie parfumée", "Vase", "Cadre photo", "Panier")),
        ("Arts de la table", 4.0, 49.0, ("Mug", "Assiette", "Carafe", "Set de table")),
    )),
    "Épicerie fine": (0.055, 0.02, (
        ("Sucré", 3.0, 19.0, ("Chocolats", "Biscuits", "Confiture", "Calissons")),
        ("Thés et cafés", 5.0, 24.0, ("Thé vert", "Café moulu", "Infusion")),
    )),
}
BRANDS: dict[str, tuple[str, ...]] = {
    "Prêt-à-porter femme": ("Maison Lila", "Atelier Solène", "Rive Gauche Studio", "Odette"),
    "Prêt-à-porter homme": ("Monsieur Léon", "Atelier Solène", "Le Faubourg", "Nord Ouest"),
    "Enfant": ("Petit Mousse", "Les Loupiots", "Maison Lila Kids"),
    "Chaussures": ("Pas de Côté", "Semelle & Co", "Le Faubourg"),
    "Accessoires": ("Odette", "Bijoux de Paname", "Maison Lila"),
    "Beauté": ("Fleur de Sel Cosmétiques", "Eau Vive", "Rive Gauche Studio"),
    "Maison": ("Maison Lila Home", "Le Comptoir Breton", "Terre d'Uzès"),
    "Épicerie fine": ("Le Comptoir Breton", "Délices d'Antan"),
}
COLOURS: tuple[str, ...] = (
    "noir", "blanc", "écru", "bleu marine", "camel", "kaki", "rose poudré", "bordeaux",
    "gris chiné", "vert sauge", "terracotta", "moutarde", "fleuri", "rayé", "beige",
)

# Verbatims: positive and negative remarks about the store experience, mixed by score.
POSITIVE_REMARKS: tuple[str, ...] = (
    "Accueil très chaleureux, la vendeuse a pris le temps de me conseiller.",
    "Magasin propre et bien rangé, on trouve facilement.",
    "Beaucoup de choix dans ma taille, je suis ravie.",
    "Passage en caisse rapide malgré le monde.",
    "Les prix des soldes étaient vraiment intéressants.",
    "Conseils avisés pour les chaussures, merci !",
    "Très bon rapport qualité-prix.",
    "Personnel souriant et disponible.",
    "La carte de fidélité est vraiment avantageuse.",
    "Retrait en magasin de ma commande web sans attente, parfait.",
    "Belle nouvelle collection, très tendance.",
    "Cabines d'essayage spacieuses et propres.",
    "Livraison rapide et colis soigné.",
)
NEGATIVE_REMARKS: tuple[str, ...] = (
    "Attente en caisse beaucoup trop longue, une seule caisse ouverte.",
    "Personne pour nous renseigner en rayon.",
    "Rupture dans ma taille, encore une fois.",
    "Les prix ont beaucoup augmenté, c'est dommage.",
    "Cabines d'essayage sales et encombrées.",
    "Accueil froid, on ne m'a même pas dit bonjour.",
    "Magasin en désordre, difficile de trouver quoi que ce soit.",
    "On m'a refusé un échange sans ticket, politique trop stricte.",
    "Musique trop forte dans le magasin.",
    "Le site indiquait l'article en stock mais il n'était pas en magasin.",
    "Colis arrivé avec deux jours de retard.",
    "Qualité décevante, le pull a bouloché après deux lavages.",
    "Pas assez de choix en grandes tailles.",
)
COMPLAINTS: tuple[str, ...] = (
    "Article défectueux : couture décousue après le premier lavage.",
    "Remboursement non reçu après retour d'un article il y a trois semaines.",
    "Erreur de prix en caisse, le prix affiché était inférieur.",
    "Commande web incomplète, il manque un article.",
    "Points de fidélité non crédités sur mon dernier achat.",
    "Comportement désagréable d'un vendeur lors d'un échange.",
    "Colis jamais livré malgré le suivi indiquant livré.",
    "Double débit sur ma carte bancaire.",
    "Bon d'achat refusé en magasin alors qu'il était valide.",
    "Antivol laissé sur l'article, j'ai dû revenir en magasin.",
)
COMMENTS: tuple[str, ...] = (
    "Très contente de mon achat, merci à l'équipe.",
    "Le nouveau magasin est très agréable.",
    "J'ai apprécié l'appel pour me prévenir de l'arrivée de ma commande.",
    "Bravo pour les emballages sans plastique.",
    "Les horaires d'ouverture du samedi sont parfaits.",
)
SUGGESTIONS: tuple[str, ...] = (
    "Ce serait bien d'ouvrir plus de caisses le samedi après-midi.",
    "Proposez davantage de grandes tailles en magasin.",
    "Pourquoi ne pas ouvrir le dimanche pendant les fêtes ?",
    "Ajoutez un espace enfants pour patienter pendant les essayages.",
    "Un paiement sans contact en cabine serait pratique.",
    "Envoyez les tickets de caisse par e-mail plutôt que sur papier.",
)
